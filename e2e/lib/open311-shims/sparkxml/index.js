// Stand-in for node-sparkxml (a git dependency of open311@0.0.12 that the npm
// registry does not serve). open311 requires it at load time but uses it only
// for format 'xml'; the e2e test uses format 'json'.
exports.parseXml = function parseXml() {
  throw new Error('sparkxml is not installed (civicdesk e2e shim): use the open311 client with format "json"');
};
