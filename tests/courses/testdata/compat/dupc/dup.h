char *dup(const char *s);
