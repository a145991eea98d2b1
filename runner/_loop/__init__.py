"""The optimization loop: the loop, its goals, journal, timings and progress. Talks to runners
only through ``AbstractRunner``; never imports a backend."""
