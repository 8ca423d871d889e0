"""What the commands do, built on litestream/ and config/: restore and its placement, the
daemon's socket commands, restore previews."""
