"""Everything thumbs knows about ZEGO's server API: signing, the HTTP client, and return codes.

Nothing in this package imports Django models; the simulator shares only ``signing`` with the client.
"""
