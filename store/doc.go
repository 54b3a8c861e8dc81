// Package store persists the PBX's state on bbolt: a key/value API for the
// packages that keep their own records (registrations, bans), call records,
// and users added at run time. It sits behind small interfaces so a
// networked store can replace it; it imports no other package of the project.
package store
