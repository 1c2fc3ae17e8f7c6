/** Escape sequences as a terminal sees them (SGR colours, cursor moves, erases). */
const escapeSequence = new RegExp(`${String.fromCharCode(27)}\\[[0-9;?]*[A-Za-z]`, 'g');

export const stripEscapes = (text: string): string => text.replace(escapeSequence, '');
