"""CSV import of the people directory (issue 14): a file of families, guardians, students and
numbers read (``parse``), its columns mapped to our fields (``mapping``), previewed
(``plan``), written in chunks by a Celery task (``apply``, ``tasks``), with the pages in
``views`` and ``forms``. The rows it keeps are in ``models``."""
