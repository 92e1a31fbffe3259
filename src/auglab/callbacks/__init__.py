"""Lightning callbacks of auglab's own."""
