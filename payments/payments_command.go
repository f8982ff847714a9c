package payments

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"civicdesk/workflow"

	"github.com/pocketbase/pocketbase/core"
	"github.com/spf13/cobra"
)

// Command is `civicdesk payments`: `import FILE` books a camt.053/camt.054
// statement (all-or-nothing, idempotent) and prints the outcome as JSON.
func Command(app core.App) *cobra.Command {
	root := &cobra.Command{Use: "payments", Short: "Cashless fees: import bank statements"}
	imp := &cobra.Command{
		Use:   "import FILE",
		Short: "Import a camt.053 / camt.054 bank statement (all-or-nothing; importing it again changes nothing)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := runMigrations(app); err != nil {
				return err
			}
			f, err := os.Open(args[0])
			if err != nil {
				return fmt.Errorf("payments import: %w", err)
			}
			defer f.Close()
			res, err := Import(app, f, filepath.Base(args[0]), workflow.System)
			if err != nil {
				return fmt.Errorf("payments import %s: %w", args[0], err)
			}
			if !verbose {
				res.Items = nil
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(res)
		},
	}
	imp.Flags().BoolVar(&verbose, "lines", false, "print the outcome of every line")
	root.AddCommand(imp, fakePlatformsCommand())
	return root
}

var verbose bool

// runMigrations applies pending migrations, as serve does, so a fresh data dir works.
func runMigrations(app core.App) error {
	if err := app.RunAllMigrations(); err != nil {
		return fmt.Errorf("payments: migrations: %w", err)
	}
	return nil
}
