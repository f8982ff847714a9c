package console

import (
	"fmt"
	"html"
	"io"
	"os"
	"sync"

	"civicdesk/city"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

// HookIDOTPMail is the id of the one-time code mail handler (every auth collection).
const HookIDOTPMail = "civicdesk.console.otpMail"

// OTPLogMessage is the app log message of a one-time code written instead of
// mailed (no SMTP configured). Tests and operators grep for it.
const OTPLogMessage = "civicdesk: one-time code (no SMTP)"

// OTPStderrPrefix starts the stderr line of a code written instead of mailed,
// followed by "<email>: <code>" (console-api.md; the e2e tests read it).
const OTPStderrPrefix = "ONE-TIME CODE for "

var (
	otpOutMu sync.Mutex
	otpOut   io.Writer = os.Stderr
)

// SetOTPOutput redirects the stderr line of unmailed codes (tests) and returns the previous writer.
func SetOTPOutput(w io.Writer) io.Writer {
	otpOutMu.Lock()
	defer otpOutMu.Unlock()
	prev := otpOut
	otpOut = w
	return prev
}

// otpTexts is the one-time code mail in every language: subject, then the
// sentence before the code and the sentence after it. The code is the first
// number of the body (the citizen app's e2e test reads it so).
var otpTexts = map[string][3]string{
	"it": {"Il tuo codice di accesso per %s", "Il tuo codice di accesso è:", "Vale tre minuti. Se non hai chiesto tu questo codice, ignora questo messaggio."},
	"en": {"Your sign-in code for %s", "Your sign-in code is:", "It is valid for three minutes. If you did not ask for it, ignore this message."},
	"sv": {"Din inloggningskod för %s", "Din inloggningskod är:", "Den gäller i tre minuter. Om du inte bad om den kan du bortse från meddelandet."},
	"et": {"Sinu sisselogimiskood: %s", "Sinu sisselogimiskood on:", "See kehtib kolm minutit. Kui sa koodi ei küsinud, ära sellest teatest hooli."},
	"hu": {"Bejelentkezési kódja – %s", "Az Ön bejelentkezési kódja:", "Három percig érvényes. Ha nem Ön kérte, hagyja figyelmen kívül ezt az üzenetet."},
}

// bindOTPMail makes one-time codes work for every auth collection (staff and
// citizens): without SMTP the code goes to the app log and stderr, clearly
// marked, and nothing claims it was sent; with SMTP it is mailed in the
// record's language.
func bindOTPMail(app core.App) {
	app.OnMailerRecordOTPSend().Bind(&hook.Handler[*core.MailerRecordEvent]{
		Id: HookIDOTPMail,
		Func: func(e *core.MailerRecordEvent) error {
			code, _ := e.Meta["password"].(string)
			otpID, _ := e.Meta["otpId"].(string)
			if !e.App.Settings().SMTP.Enabled {
				e.App.Logger().Warn(OTPLogMessage,
					"email", e.Record.Email(), "collection", e.Record.Collection().Name, "otpId", otpID, "code", code)
				otpOutMu.Lock()
				fmt.Fprintf(otpOut, "%s%s: %s\n", OTPStderrPrefix, e.Record.Email(), code)
				otpOutMu.Unlock()
				// not e.Next(): sending would fail (no sendmail) and PocketBase
				// would then delete the code the log just showed
				return nil
			}
			cfg := city.Of(e.App)
			lang := cfg.MatchLang(e.Record.GetString("lang"))
			t, ok := otpTexts[lang]
			if !ok {
				t = otpTexts["en"]
			}
			e.Message.Subject = fmt.Sprintf(t[0], cfg.Name)
			// HTML only, as PocketBase's own template: its mailer derives the text part
			e.Message.HTML = "<p>" + html.EscapeString(t[1]) + "</p><p><strong>" + html.EscapeString(code) + "</strong></p><p>" + html.EscapeString(t[2]) + "</p>"
			return e.Next()
		},
	})
}
