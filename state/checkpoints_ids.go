package state

// LastID is the greatest checkpoint id the store has seen: on disk at
// Resume or Fresh, or given to Begin since. The next Begin's id must be
// greater.
func (c *Checkpoints) LastID() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.maxID
}
