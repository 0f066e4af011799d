// Package layout holds no code: its test keeps the import graph following
// the data path (HTTP → pre-moderation → embed → index search → decision →
// …), so that no package of an earlier step imports a later one:
//
//   - index/... imports nothing under router/ or moderation/;
//   - rag, moderation and embed (and what is under them) import nothing
//     under router/;
//   - embed/... imports nothing under index/ (its vector kernels are
//     internal/simd's).
//
// "Imports" counts every dependency, direct or not, of the package and of
// its tests, as `go list -deps` sees them. The exceptions main still had
// when the rules were written are listed by name in the test, each with
// the reason; the list only shrinks: the test fails on any new backward
// import, and on an exception that no longer exists (delete it then).
package layout
