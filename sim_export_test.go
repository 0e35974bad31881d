package notify

// SimOwners returns the numbers of the client's owners (the num that
// WithProtocol's function was called with), for the simulator's check
// that every owner is connected, connecting, or saying why not.
func SimOwners(c *Client) []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	nums := make([]int, len(c.owners))
	for i, o := range c.owners {
		nums[i] = o.num
	}
	return nums
}
