// Package store persists the PBX's state in one bbolt file, pbx.db, in the
// data directory:
//
//   - a generic key/value API (KV) for packages that keep their own records
//     and encode them as JSON themselves: the sip package's registrations
//     and bans;
//   - call records (CDR), kept in start-time order;
//   - users (extensions) added at run time.
//
// Other packages depend on the small interfaces KV, CDRLog and Users rather
// than on *Store, so a networked store (etcd, with the same buckets as key
// prefixes) can replace bbolt without them noticing. Nothing here assumes
// the caller is the only process: a second PBX opening the same directory
// gets ErrLocked after one second instead of hanging.
//
// store is on the lowest floor of the project: it must never import another
// package of the project, config included.
package store
