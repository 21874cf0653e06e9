"""The API's pagination: DRF's limit/offset, with a ceiling on the page size."""

from rest_framework.pagination import LimitOffsetPagination


class Pagination(LimitOffsetPagination):
    # Without a ceiling any ?limit= reaches SQL: a huge one overflows PostgreSQL's bigint (a 500) and a
    # merely large one makes a single request read a whole table.
    max_limit = 1000
