"""formcheck exercise engine: exercise definitions as data, rep counting and feedback."""
