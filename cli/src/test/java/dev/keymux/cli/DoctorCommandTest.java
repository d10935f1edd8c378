package dev.keymux.cli;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

/** Who keymux doctor asks sudo for: members of the usual admin groups only, by {@code id -Gn}'s names. */
class DoctorCommandTest {
  @Test
  void onlyMembersOfSudoWheelOrAdminAreAskedAbout() {
    assertTrue(DoctorCommand.mayAdminister("alice adm cdrom sudo dip plugdev\n"));
    assertTrue(DoctorCommand.mayAdminister("bob wheel"));
    assertTrue(DoctorCommand.mayAdminister("admin"));
    assertFalse(DoctorCommand.mayAdminister("carol adm users sudoers wheels\n"), "whole names only");
    assertFalse(DoctorCommand.mayAdminister(""));
  }
}
