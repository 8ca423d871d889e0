"""Everything that talks to the litestream binary: finding it, running it, parsing what it
prints, and its control socket."""
