package postgres

// Migrations is the migrations' text, for the test that they never change.
func Migrations() []string { return migrations }
