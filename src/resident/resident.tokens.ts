/** Injection token of the residents' configuration (`residents.json`). */
export const RESIDENT_CONFIG = Symbol('RESIDENT_CONFIG');
