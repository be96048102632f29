/** `prefix%` for SQL LIKE, with LIKE's wildcards in the prefix escaped (`\` is the escape character). */
export const likePrefix = (prefix: string) => `${prefix.replace(/[\\%_]/g, '\\$&')}%`;
