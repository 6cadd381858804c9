"""seqlab's command line: Click commands only, each a thin wrapper over the library."""
