/*
 * token_class.h - the kinds of client a token is issued to. A revocation
 * rule can name one class ("log out every Android phone") without touching
 * the others.
 */
#ifndef SH_TOKEN_CLASS_H
#define SH_TOKEN_CLASS_H

enum sh_class {
    SH_CLASS_NONE = 0,
    SH_CLASS_ANDROID = 1,
    SH_CLASS_IOS,
    SH_CLASS_WEB,
    SH_CLASS_CLI,
    SH_CLASS__COUNT
};

/* Class for an app client name ("android", ...), or SH_CLASS_NONE. */
enum sh_class sh_class_from_name(const char *name);
/* Name of a class; "unknown" for an invalid value. */
const char *sh_class_name(int cls);

#endif
