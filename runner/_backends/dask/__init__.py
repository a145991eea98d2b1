"""The dask backend: the driver (``DaskRunner``), the worker-side task, the cluster connection."""
