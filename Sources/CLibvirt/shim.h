#ifndef EMP_CLIBVIRT_SHIM_H
#define EMP_CLIBVIRT_SHIM_H
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#endif
