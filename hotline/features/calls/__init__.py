"""Calls: the IVR's calls, their flows, the queue, takeover, the tickets calls make, outages."""
