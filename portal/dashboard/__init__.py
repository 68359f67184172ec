"""The supervisor's dashboard: what was collected, kept, disputed, paused and tried, as charts."""
