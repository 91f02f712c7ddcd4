"""One component per answer kind; each turns a question analysis and retrieval into a `Draft`."""
