/** The CLI's exit codes, in one place: the usage text and README say the same. */
export const EXIT = { ok: 0, fileErrors: 1, usage: 2, failure: 3, cancelled: 130, terminated: 143 } as const;

/** What each code means, as every --help prints it. */
export const EXIT_CODES_HELP = `Exit codes:
  0    done: every model was read and compared
  1    done, but some files could not be read or compared: they are listed (errors in result.json), the rest are compared
  2    usage: an unknown option, a bad value, an input path that does not exist, an output folder that cannot be
       written; nothing was read or written
  3    failure: nothing to compare (no model files, or fewer than two readable models), a damaged or foreign
       result.json, a write that failed (disk full, permission, folder removed); a previous output is left as it was
  130  interrupted (Ctrl-C, SIGINT)          143  terminated (SIGTERM); the output folder is left as it was`;
