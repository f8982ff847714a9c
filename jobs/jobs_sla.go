package jobs

import (
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"

	"civicdesk/city"
	"civicdesk/workflow"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/mailer"
	"github.com/pocketbase/pocketbase/tools/types"
)

// SLAWatch marks open requests past their due_at as overdue (as the system
// actor, through the workflow hooks) and tells each department's supervisors:
// an app log warning always (dashboard → Logs), and one digest email per
// department when SMTP is configured. A request is reported once: the flag
// is set in the same run that reports it.
func SLAWatch(app core.App, now time.Time) (Report, error) {
	recs, err := app.FindRecordsByFilter("requests",
		"due_at != '' && due_at < {:now} && overdue = false && status != {:resolved} && status != {:rejected} && status != {:cancelled}",
		"due_at", 0, 0,
		dbx.Params{"now": dbTime(now), "resolved": workflow.StatusResolved, "rejected": workflow.StatusRejected, "cancelled": workflow.StatusCancelled})
	if err != nil {
		return nil, fmt.Errorf("find overdue requests: %w", err)
	}
	rep := Report{"marked": 0, "errors": 0, "emails": 0}
	byDept := map[string][]*core.Record{}
	var depts []string
	for _, r := range recs {
		r.Set("overdue", true)
		workflow.AttachActor(r, workflow.System)
		if err := app.Save(r); err != nil {
			rep["errors"]++
			app.Logger().Error("sla: could not mark request overdue", "request", r.GetString("number"), "error", err.Error())
			continue
		}
		rep["marked"]++
		d := r.GetString("department")
		if _, ok := byDept[d]; !ok {
			depts = append(depts, d)
		}
		byDept[d] = append(byDept[d], r)
	}
	for _, d := range depts {
		sent, err := notifyDepartment(app, d, byDept[d])
		if err != nil {
			rep["errors"]++
			app.Logger().Error("sla: could not email the supervisors", "department", d, "error", err.Error())
		}
		rep["emails"] += int64(sent)
	}
	rep["departments"] = int64(len(depts))
	return rep, nil
}

// supervisorsOf returns the supervisors responsible for department: those
// assigned to it, plus city-wide supervisors (no departments).
func supervisorsOf(app core.App, department string) ([]*core.Record, error) {
	all, err := app.FindAllRecords("staff", dbx.HashExp{"role": workflow.RoleSupervisor})
	if err != nil {
		return nil, err
	}
	var out []*core.Record
	for _, s := range all {
		ds := s.GetStringSlice("departments")
		if len(ds) == 0 || slices.Contains(ds, department) {
			out = append(out, s)
		}
	}
	return out, nil
}

// notifyDepartment logs the overdue requests of one department and emails its
// supervisors (or, with none, the department's address). It returns the emails sent.
func notifyDepartment(app core.App, departmentID string, recs []*core.Record) (int, error) {
	cfg := city.Of(app)
	dept, _ := app.FindRecordById("departments", departmentID)
	deptName, deptCode, deptEmail := departmentID, departmentID, ""
	if dept != nil {
		deptName, deptCode, deptEmail = dept.GetString("name"), dept.GetString("code"), dept.GetString("email")
	}
	numbers := make([]string, 0, len(recs))
	for _, r := range recs {
		numbers = append(numbers, r.GetString("number"))
	}
	sups, err := supervisorsOf(app, departmentID)
	if err != nil {
		return 0, err
	}
	app.Logger().Warn("sla: requests past due", "department", deptCode, "count", len(recs), "requests", strings.Join(numbers, ","), "supervisors", len(sups))

	if !app.Settings().SMTP.Enabled {
		return 0, nil // the log entry (and the overdue flag in the staff console) is the notice
	}
	var to []mail.Address
	for _, s := range sups {
		if s.Email() != "" {
			to = append(to, mail.Address{Name: s.GetString("name"), Address: s.Email()})
		}
	}
	if len(to) == 0 && deptEmail != "" {
		to = append(to, mail.Address{Name: deptName, Address: deptEmail})
	}
	if len(to) == 0 {
		return 0, nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d request(s) of %s are past their due date:\n\n", len(recs), deptName)
	for _, r := range recs {
		due := r.GetDateTime("due_at").Time().In(cfg.Location).Format("2006-01-02 15:04 MST")
		fmt.Fprintf(&b, "  %s  due %s  %s/staff/#/requests/%s\n", r.GetString("number"), due, cfg.PublicURL, r.Id)
	}
	b.WriteString("\nThey are flagged as overdue in the staff console.\n")
	s := app.Settings()
	msg := &mailer.Message{
		From:    mail.Address{Name: s.Meta.SenderName, Address: s.Meta.SenderAddress},
		To:      to,
		Subject: fmt.Sprintf("[%s] %d overdue request(s): %s", cfg.Name, len(recs), deptName),
		Text:    b.String(),
	}
	// outside any transaction: a job run, never a hook
	if err := app.NewMailClient().Send(msg); err != nil {
		return 0, fmt.Errorf("send: %w", err)
	}
	return 1, nil
}

// dbTime formats t as PocketBase stores dates, so string comparison is time order.
func dbTime(t time.Time) string {
	return t.UTC().Format(types.DefaultDateLayout)
}
