// Stand-in for xml2json@0.2 (needs a native node-expat build); open311 uses it
// only for format 'xml', and the e2e test uses format 'json'.
exports.toJson = function toJson() {
  throw new Error('xml2json is not installed (civicdesk e2e shim): use the open311 client with format "json"');
};
