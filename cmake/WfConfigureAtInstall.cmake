# Runs inside `cmake --install` (see WfInstall.cmake): configures WF_TEMPLATE
# into $DESTDIR/<prefix>/WF_DEST. Templates may use @WF_PREFIX@,
# @WF_BINDIR@ (absolute), @WF_PC_LIBDIR@, @WF_PC_INCLUDEDIR@ (${prefix}-based
# where possible), @WF_VERSION@ and @WF_PC_REQUIRES@.
macro(wf_under_prefix out rel style)
  if(IS_ABSOLUTE "${rel}")
    set(${out} "${rel}")
  elseif("${style}" STREQUAL "pc")
    set(${out} "\${prefix}/${rel}")
  else()
    set(${out} "${CMAKE_INSTALL_PREFIX}/${rel}")
  endif()
endmacro()

set(WF_PREFIX "${CMAKE_INSTALL_PREFIX}")
wf_under_prefix(WF_BINDIR "${WF_BINDIR_REL}" abs)
wf_under_prefix(WF_PC_LIBDIR "${WF_LIBDIR_REL}" pc)
wf_under_prefix(WF_PC_INCLUDEDIR "${WF_INCLUDEDIR_REL}" pc)
wf_under_prefix(WF_DEST_ABS "${WF_DEST}" abs)
set(WF_OUT "$ENV{DESTDIR}${WF_DEST_ABS}")
message(STATUS "Installing: ${WF_OUT}")
configure_file("${WF_TEMPLATE}" "${WF_OUT}" @ONLY)
list(APPEND CMAKE_INSTALL_MANIFEST_FILES "${WF_DEST_ABS}") # as cmake records its own: without DESTDIR
