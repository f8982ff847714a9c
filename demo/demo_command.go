package demo

import (
	"fmt"

	"github.com/pocketbase/pocketbase/core"
	"github.com/spf13/cobra"
)

// Register adds the `demo` command to rootCmd (like PocketBase's migratecmd,
// commands need the root command, which core.App does not carry).
func Register(app core.App, rootCmd *cobra.Command) {
	rootCmd.AddCommand(Command(app))
}

// Command returns the `demo` cobra command for app.
func Command(app core.App) *cobra.Command {
	return &cobra.Command{
		Use:          "demo",
		Short:        "Seed the demo city (departments, services, accounts); safe to run again",
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := app.RunAllMigrations(); err != nil {
				return fmt.Errorf("migrations: %w", err)
			}
			accounts, err := Seed(app)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintln(out, "Demo city ready. Demo accounts (set CIVICDESK_DEMO_PASSWORD for other passwords; never use these outside a demo):")
			for _, a := range accounts {
				extra := a.Role
				if a.Department != "" {
					extra += ", " + a.Department
				}
				if extra != "" {
					extra = " (" + extra + ")"
				}
				fmt.Fprintf(out, "  %-9s %-44s %s%s\n", a.Collection, a.Email, a.Password, extra)
			}
			return nil
		},
	}
}
