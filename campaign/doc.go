// Package campaign is the contact center's campaigns: incoming campaigns
// (a queue's calls with a script, forms and a contact book) and outgoing
// ones (a list of numbers the dialer calls, progressively or
// predictively, and hands to a queue's agents). It keeps campaigns, forms,
// contacts, call records, scheduled calls and the campaign log in the
// store, and publishes every call's status change on the engine's bus.
//
// It stands on dialog (originate, redirect to a queue, events) and store.
// It does not import queue, which is on its floor: what it needs of the
// agents comes through the Agents interface, which the node fills with
// the contact center.
package campaign
