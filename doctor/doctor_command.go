package doctor

import (
	"fmt"
	"io"

	"github.com/pocketbase/pocketbase/core"
	"github.com/spf13/cobra"
)

// Register adds the `doctor` command to rootCmd.
func Register(app core.App, rootCmd *cobra.Command) {
	if rootCmd != nil {
		rootCmd.AddCommand(Command(app))
	}
}

// Command is `civicdesk doctor [--mail-to ADDRESS]`.
func Command(app core.App) *cobra.Command {
	var mailTo string
	cmd := &cobra.Command{
		Use:          "doctor",
		Short:        "Check this deployment and say what to fix (exit status 1 when something is wrong)",
		Args:         cobra.NoArgs,
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			checks := Run(app, Options{MailTo: mailTo})
			if n := Print(cmd.OutOrStdout(), checks); n > 0 {
				return fmt.Errorf("doctor: %d problem(s) to fix", n)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&mailTo, "mail-to", "", "send a test mail to this address through the configured SMTP server")
	return cmd
}

// Print writes the checks and returns how many failed.
func Print(w io.Writer, checks []Check) int {
	failed := 0
	for _, c := range checks {
		fmt.Fprintf(w, "%-4s  %-16s %s\n", c.Status, c.Name, c.Message)
		if c.Status != OK && c.Fix != "" {
			fmt.Fprintf(w, "      %-16s fix: %s\n", "", c.Fix)
		}
		if c.Status == Fail {
			failed++
		}
	}
	if failed == 0 {
		fmt.Fprintln(w, "No problems found.")
	}
	return failed
}
