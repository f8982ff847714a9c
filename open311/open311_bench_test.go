package open311_test

import (
	"fmt"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"

	"civicdesk/testkit"
)

// seedSQL inserts n requests of the demo services over the last 80 days.
func seedSQL(b testing.TB, w *testkit.World, n int) {
	var services []struct {
		ID         string `db:"id"`
		Department string `db:"department"`
	}
	if err := w.App.DB().NewQuery("SELECT id, department FROM services ORDER BY code").All(&services); err != nil {
		b.Fatal(err)
	}
	var cases, depts strings.Builder
	for i, s := range services {
		fmt.Fprintf(&cases, " WHEN %d THEN '%s'", i, s.ID)
		fmt.Fprintf(&depts, " WHEN %d THEN '%s'", i, s.Department)
	}
	step := (80 * 24 * 3600) / n
	_, err := w.App.DB().NewQuery(fmt.Sprintf(`WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < %d)
		INSERT INTO requests (id, number, service, department, status, description, address, location, answers, source, priority, created, updated, due_at)
		SELECT printf('bench%%010d', i), printf('2025-B%%06d', i), CASE i %% %d %s END, CASE i %% %d %s END,
			CASE WHEN i %% 4 = 0 THEN 'resolved' ELSE 'received' END, 'Seeded request ' || i, 'Via di Prova ' || (i %% 300),
			json_object('lon', 8.9 + (i %% 1000) / 10000.0, 'lat', 44.4 + (i %% 700) / 10000.0), json_object('size', 'large'), 'app', 'normal',
			strftime('%%Y-%%m-%%d %%H:%%M:%%fZ', 'now', printf('-%%d seconds', i * %d)),
			strftime('%%Y-%%m-%%d %%H:%%M:%%fZ', 'now', printf('-%%d seconds', i * %d)),
			strftime('%%Y-%%m-%%d %%H:%%M:%%fZ', 'now', printf('-%%d seconds', i * %d), '+100 days')
		FROM seq`, n, len(services), cases.String(), len(services), depts.String(), step, step, step)).Execute()
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkRequestsList: GET requests.json answering 1,000 of
// OPEN311_BENCH_N (default 20,000) requests, in process (no network).
func BenchmarkRequestsList(b *testing.B) {
	n := 20000
	if v, err := strconv.Atoi(os.Getenv("OPEN311_BENCH_N")); err == nil {
		n = v
	}
	w := testkit.NewApp(b)
	seedSQL(b, w, n)
	h := w.Handler(b)
	for _, format := range []string{"json", "xml"} {
		b.Run(format, func(b *testing.B) {
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("GET", "/open311/v2/requests."+format, nil))
				if rec.Code != 200 {
					b.Fatal(rec.Code, rec.Body.String())
				}
			}
		})
	}
}
