/** The CLI's exit codes, in one place: the usage text and README say the same. */
export const EXIT = { ok: 0, fileErrors: 1, usage: 2, failure: 3, cancelled: 130, terminated: 143 } as const;
