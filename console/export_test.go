package console

// ExportPage lets tests make the CSV export read small keyset pages.
var ExportPage = &exportPage

// ReferenceFigure computes a weekly figure the slow way (every row of the
// period read into Go, as before migration 1765010000): the oracle of the
// indexed queries.
var ReferenceFigure = referenceFigure
