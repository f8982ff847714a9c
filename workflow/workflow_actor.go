package workflow

import (
	"github.com/pocketbase/pocketbase/core"
)

// ActorKind says who acts on a request.
type ActorKind string

// Actor kinds.
const (
	ActorSystem    ActorKind = "system"    // jobs, migrations, Go code without a request
	ActorCitizen   ActorKind = "citizen"   // a record of the citizens collection
	ActorStaff     ActorKind = "staff"     // a clerk or supervisor (staff collection)
	ActorSuperuser ActorKind = "superuser" // PocketBase superuser (dashboard)
	ActorOpen311   ActorKind = "open311"   // an Open311 API client
)

// Staff roles.
const (
	RoleClerk      = "clerk"
	RoleSupervisor = "supervisor"
)

// Actor is who performs a write. hooks/ reads it from the record being saved.
type Actor struct {
	Kind ActorKind
	// ID is the auth record id (citizen, staff, superuser) or api_clients id (Open311).
	ID string
	// Role is the staff role (clerk, supervisor); empty for other kinds.
	Role string
	// Departments are the staff member's department ids.
	Departments []string
}

// IsStaffLike reports whether the actor processes requests (staff, superuser, system).
func (a Actor) IsStaffLike() bool {
	return a.Kind == ActorStaff || a.Kind == ActorSuperuser || a.Kind == ActorSystem
}

// System is the actor of jobs and Go code that acts on its own.
var System = Actor{Kind: ActorSystem}

// ActorFromAuth derives the actor from a request's auth record (nil = system).
func ActorFromAuth(auth *core.Record) Actor {
	if auth == nil {
		return System
	}
	switch {
	case auth.IsSuperuser():
		return Actor{Kind: ActorSuperuser, ID: auth.Id}
	case auth.Collection().Name == "citizens":
		return Actor{Kind: ActorCitizen, ID: auth.Id}
	case auth.Collection().Name == "staff":
		return Actor{Kind: ActorStaff, ID: auth.Id, Role: auth.GetString("role"), Departments: auth.GetStringSlice("departments")}
	}
	return Actor{Kind: ActorKind("unknown:" + auth.Collection().Name), ID: auth.Id}
}

// actorKey is a record key that is not a field name, so a request body can never set it
// (the records API loads only collection fields).
const actorKey = "@civicdesk.actor"

// AttachActor records who performs the next save of rec. The request hooks of
// hooks/ call it for the records API; sync and Open311 call it themselves.
func AttachActor(rec *core.Record, a Actor) {
	rec.Set(actorKey, a)
}

// ActorOf returns the actor attached to rec, or System when none is attached.
func ActorOf(rec *core.Record) Actor {
	if a, ok := rec.GetRaw(actorKey).(Actor); ok {
		return a
	}
	return System
}

// pendingPhotosKey carries the number of photos a client has announced but not yet uploaded.
const pendingPhotosKey = "@civicdesk.pendingPhotos"

// SetPendingPhotos tells the create hook that n photos will be attached later
// (sync's request.create with attachments), so a "photos required" service accepts it.
func SetPendingPhotos(rec *core.Record, n int) {
	rec.Set(pendingPhotosKey, n)
}

// PendingPhotos returns what SetPendingPhotos stored (0 when unset).
func PendingPhotos(rec *core.Record) int {
	n, _ := rec.GetRaw(pendingPhotosKey).(int)
	return n
}

// photosProcessedKey marks a record whose unsaved photos already went through
// the photo pipeline (sync's uploads, the records API hook), so the data layer
// does not read them again.
const photosProcessedKey = "@civicdesk.photosProcessed"

// MarkPhotosProcessed tells hooks/ that rec's unsaved photos are already processed.
func MarkPhotosProcessed(rec *core.Record) {
	rec.Set(photosProcessedKey, true)
}

// PhotosProcessed reports whether MarkPhotosProcessed was called on rec.
func PhotosProcessed(rec *core.Record) bool {
	b, _ := rec.GetRaw(photosProcessedKey).(bool)
	return b
}

// citizenAnswerKey marks a request saved because its owner answered (a reply
// or a "not fixed"): only then may a citizen move it to in_progress.
const citizenAnswerKey = "@civicdesk.citizenAnswer"

// MarkCitizenAnswer tells hooks/ that rec's status change comes from its
// owner's reply or "not fixed" event, not from a bare status edit.
func MarkCitizenAnswer(rec *core.Record) {
	rec.Set(citizenAnswerKey, true)
}

// CitizenAnswer reports whether MarkCitizenAnswer was called on rec.
func CitizenAnswer(rec *core.Record) bool {
	b, _ := rec.GetRaw(citizenAnswerKey).(bool)
	return b
}
