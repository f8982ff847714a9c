package console

// ExportPage lets tests make the CSV export read small keyset pages.
var ExportPage = &exportPage
