# wf_install_configured(TEMPLATE DEST): installs TEMPLATE (configured @ONLY)
# as DEST, relative to the install prefix or absolute. The configuring runs
# at install time (cmake/WfConfigureAtInstall.cmake), so the prefix given to
# `cmake --install --prefix P` is the one written into the file; nothing is
# written into the build directory.
function(wf_install_configured template dest)
  get_filename_component(template "${template}" ABSOLUTE BASE_DIR "${PROJECT_SOURCE_DIR}")
  install(CODE "
    set(WF_TEMPLATE \"${template}\")
    set(WF_DEST \"${dest}\")
    set(WF_BINDIR_REL \"${CMAKE_INSTALL_BINDIR}\")
    set(WF_LIBDIR_REL \"${CMAKE_INSTALL_LIBDIR}\")
    set(WF_INCLUDEDIR_REL \"${CMAKE_INSTALL_INCLUDEDIR}\")
    set(WF_VERSION \"${PROJECT_VERSION}\")
    set(WF_PC_REQUIRES \"${WF_PC_REQUIRES}\")
    include(\"${PROJECT_SOURCE_DIR}/cmake/WfConfigureAtInstall.cmake\")
  ")
endfunction()
