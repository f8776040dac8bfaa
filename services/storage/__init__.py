"""Where uploaded recordings live: a local folder (``files``) or any fsspec location such as S3
(``remote``), behind one ``Storage`` protocol chosen by ``STORAGE_URL``."""
