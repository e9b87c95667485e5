"""What two or more parts of the function share: settings, errors and their problems, the
one HTTP edge, the one way to call upstream, the cache, the request context, logging."""
