package app

import (
	"errors"
	"maps"
	"strings"
	"testing"
	"time"
)

func TestRemindSettingsHaveDefaultsAndAreChecked(t *testing.T) {
	setEnv(t, validEnv)
	c, err := LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	if c.RemindAfter != 4*time.Hour || c.RemindMax != 3 || c.RemindHours.String() != "" {
		t.Errorf("reminder defaults = %s, %d, %q; want 4h, 3, every hour", c.RemindAfter, c.RemindMax, c.RemindHours)
	}

	t.Setenv("REVOKE_REMIND_HOURS", "")
	t.Setenv("REVOKE_REMIND_MAX", "")
	env := maps.Clone(validEnv)
	env["REVOKE_REMIND_HOURS"] = "09-18 Europe/Berlin"
	env["REVOKE_REMIND_MAX"] = "0"
	setEnv(t, env)
	if c, err = LoadConfig(); err != nil {
		t.Fatal(err)
	}
	if c.RemindHours.String() != "09-18 Europe/Berlin" || c.RemindMax != 0 || remindMax(c.RemindMax) >= 0 {
		t.Errorf("hours %q, max %d (lifecycle %d); want 09-18 Europe/Berlin and none", c.RemindHours, c.RemindMax, remindMax(c.RemindMax))
	}

	for name, bad := range map[string]map[string]string{
		"hours that are not hours": {"REVOKE_REMIND_HOURS": "nine to five"},
		"an unknown time zone":     {"REVOKE_REMIND_HOURS": "09-18 Mars/Olympus"},
		"too many reminders":       {"REVOKE_REMIND_MAX": "99"},
		"negative reminders":       {"REVOKE_REMIND_MAX": "-1"},
		"a wait under a second":    {"REVOKE_REMIND_AFTER": "10ms"},
	} {
		t.Run(name, func(t *testing.T) {
			env := maps.Clone(validEnv)
			maps.Copy(env, bad)
			setEnv(t, env)
			_, err := LoadConfig()
			var ce *ConfigError
			if !errors.As(err, &ce) || len(ce.Problems) != 1 || !strings.HasPrefix(ce.Problems[0].Variable, "REVOKE_REMIND_") {
				t.Errorf("err = %v; want one REVOKE_REMIND_ problem", err)
			}
		})
	}
}
