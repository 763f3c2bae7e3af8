/* version.h - the release, for --version, /metrics and the package. */
#ifndef SH_VERSION_H
#define SH_VERSION_H

#define SH_VERSION "0.1.0"

#endif
