package consultations

import (
	"errors"
	"net/http"

	"civicdesk/workflow"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
)

// Route paths.
const (
	PathPublish     = "/api/consultations/{id}/publish"
	PathMyBallot    = "/api/consultations/{id}/ballot"
	PathResultsJSON = "/api/consultations/{id}/results.json"
	PathResultsCSV  = "/api/consultations/{id}/results.csv"
)

func bindRoutes(se *core.ServeEvent) {
	s := Of(se.App)
	se.Router.POST(PathPublish, s.handlePublish).Bind(apis.RequireAuth("staff", core.CollectionNameSuperusers))
	se.Router.GET(PathMyBallot, s.handleMyBallot).Bind(apis.RequireAuth("citizens"))
	se.Router.GET(PathResultsJSON, s.handleResults(false))
	se.Router.GET(PathResultsCSV, s.handleResults(true))
}

func (s *Service) handlePublish(e *core.RequestEvent) error {
	if e.Auth.Collection().Name == "staff" && e.Auth.GetString("role") != workflow.RoleSupervisor {
		return e.ForbiddenError("Only a supervisor publishes results.", nil)
	}
	res, err := s.Publish(e.Request.PathValue("id"), workflow.ActorFromAuth(e.Auth))
	var pe *PublishError
	switch {
	case errors.As(err, &pe):
		return e.BadRequestError(pe.Message, nil)
	case err != nil:
		return e.InternalServerError("Failed to publish the results.", err)
	}
	return e.JSON(http.StatusOK, res)
}

// myBallot is what a citizen learns about their own ballot: its version and
// receipt, never its content (the device keeps that).
type myBallot struct {
	ConsultationID string         `json:"consultationId"`
	Version        int            `json:"version"`
	Status         string         `json:"status,omitempty"`
	Receipt        *receiptInfo   `json:"receipt,omitempty"`
	Superseded     []*receiptInfo `json:"superseded"`
}

type receiptInfo struct {
	ID       string `json:"id"`
	Code     string `json:"code"`
	Version  int    `json:"version"`
	IssuedAt string `json:"issuedAt"`
}

func (s *Service) handleMyBallot(e *core.RequestEvent) error {
	id := e.Request.PathValue("id")
	rec, err := e.App.FindRecordById(CollConsultations, id)
	if err != nil || rec.GetString("status") == StatusDraft {
		return e.NotFoundError("No such consultation.", nil)
	}
	recs, err := e.App.FindRecordsByFilter("receipts", "kind = 'ballot' && consultation = {:c} && citizen = {:u}", "-ballot_version", 100, 0,
		dbx.Params{"c": id, "u": e.Auth.Id})
	if err != nil {
		return e.InternalServerError("", err)
	}
	out := myBallot{ConsultationID: id, Superseded: []*receiptInfo{}}
	for _, r := range recs {
		info := &receiptInfo{ID: r.Id, Code: r.GetString("code"), Version: r.GetInt("ballot_version"), IssuedAt: r.GetDateTime("issued_at").Time().UTC().Format("2006-01-02T15:04:05Z")}
		if !r.GetBool("superseded") && out.Receipt == nil {
			out.Receipt, out.Version = info, info.Version
			out.Status = r.GetString("ballot_status")
			continue
		}
		out.Superseded = append(out.Superseded, info)
	}
	e.Response.Header().Set("Cache-Control", "no-store")
	return e.JSON(http.StatusOK, out)
}

// handleResults serves the published aggregates (JSON with the approved free
// texts, or CSV); before publication there is nothing to serve, for anyone.
func (s *Service) handleResults(asCSV bool) func(*core.RequestEvent) error {
	return func(e *core.RequestEvent) error {
		rec, err := e.App.FindRecordById(CollConsultations, e.Request.PathValue("id"))
		if err != nil || rec.GetString("status") != StatusPublished {
			return e.NotFoundError("No published results for this consultation.", nil)
		}
		var res Results
		if err := decodeJSON(rec.Get("results"), &res); err != nil {
			return e.InternalServerError("", err)
		}
		if asCSV {
			b, err := res.CSV()
			if err != nil {
				return e.InternalServerError("", err)
			}
			e.Response.Header().Set("Content-Disposition", `attachment; filename="results-`+rec.GetString("code")+`.csv"`)
			return e.Blob(http.StatusOK, "text/csv; charset=utf-8", b)
		}
		texts, err := e.App.FindRecordsByFilter(CollTexts, "consultation = {:c} && approved = true", "position", 0, 0, dbx.Params{"c": rec.Id})
		if err != nil {
			return e.InternalServerError("", err)
		}
		type text struct {
			Question string `json:"question"`
			Text     string `json:"text"`
		}
		approved := make([]text, 0, len(texts))
		for _, t := range texts {
			approved = append(approved, text{t.GetString("question"), t.GetString("text")})
		}
		return e.JSON(http.StatusOK, map[string]any{"results": res, "texts": approved})
	}
}
