package campaign

import (
	"fmt"
	"io"
	"slices"
)

// ImportNumbers reads numbers to call from CSV into an outgoing campaign.
// Good rows are added; bad ones come back as problems with their lines.
// err is a campaign that cannot take numbers, or a reader that failed.
func (c *Center) ImportNumbers(campaignID int, r io.Reader) (added int, problems []RowError, err error) {
	if cp, ok := c.Campaign(campaignID); !ok {
		return 0, nil, fmt.Errorf("campaign %d: %w", campaignID, ErrNotFound)
	} else if cp.Kind != Outgoing {
		return 0, nil, fmt.Errorf("campaign %d: %w: only outgoing campaigns have numbers", campaignID, ErrInvalid)
	}
	rows, problems, err := ParseNumbers(r)
	if err != nil {
		return 0, problems, fmt.Errorf("import numbers: %w", err)
	}
	added, err = c.AddNumbers(campaignID, rows)
	return added, problems, err
}

// ImportContacts reads contacts from CSV into the contact book. Good rows
// are added; bad ones come back as problems with their lines.
func (c *Center) ImportContacts(r io.Reader) (added int, problems []RowError, err error) {
	rows, problems, err := ParseContacts(r)
	if err != nil {
		return 0, problems, fmt.Errorf("import contacts: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ct := range rows {
		ct.ID = c.newIDLocked(bucketContacts)
		c.contacts[ct.ID] = &ct
		c.markLocked(bucketContacts, ct.ID, ct)
	}
	return len(rows), problems, nil
}

// Contacts lists the contact book by id.
func (c *Center) Contacts() []Contact {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.contactsLocked()
}

func (c *Center) contactsLocked() []Contact {
	out := make([]Contact, 0, len(c.contacts))
	for _, ct := range c.contacts {
		out = append(out, *ct)
	}
	slices.SortFunc(out, func(a, b Contact) int { return a.ID - b.ID })
	return out
}

// MatchContacts finds the contacts a caller id may be.
func (c *Center) MatchContacts(callerID string) []Contact {
	c.mu.Lock()
	defer c.mu.Unlock()
	return MatchContacts(c.contactsLocked(), callerID)
}

// SaveFormData stores what an agent filled in for a call, after checking
// every value against the campaign's forms: a value problem is a
// *FormError with ECCP's code and message.
func (c *Center) SaveFormData(callID int, data map[int]map[int]string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	cl := c.calls[callID]
	if cl == nil {
		return fmt.Errorf("call %d: %w", callID, ErrNotFound)
	}
	forms := map[int]Form{}
	if cp := c.campaigns[cl.CampaignID]; cp != nil {
		for _, id := range cp.Forms {
			if f := c.forms[id]; f != nil {
				forms[id] = *f
			}
		}
	}
	if ferr := CheckFormData(forms, data); ferr != nil {
		return ferr
	}
	if cl.FormData == nil {
		cl.FormData = map[int]map[int]string{}
	}
	for formID, fields := range storableFormData(forms, data) {
		if cl.FormData[formID] == nil {
			cl.FormData[formID] = map[int]string{}
		}
		for fieldID, v := range fields {
			cl.FormData[formID][fieldID] = v
		}
	}
	c.markLocked(bucketCalls, cl.ID, *cl)
	return nil
}

// SetContact says which contact an incoming call's caller is, when the
// caller id matched several.
func (c *Center) SetContact(callID, contactID int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	cl := c.calls[callID]
	switch {
	case cl == nil:
		return fmt.Errorf("call %d: %w", callID, ErrNotFound)
	case c.contacts[contactID] == nil:
		return fmt.Errorf("contact %d: %w", contactID, ErrNotFound)
	}
	cl.Contact = contactID
	c.markLocked(bucketCalls, cl.ID, *cl)
	return nil
}
