package ragpg

// FailBumps makes every bump of s fail, as when the database goes away
// between a writer's last write and its bump.
func FailBumps(s *Store, on bool) { s.failBumps = on }
