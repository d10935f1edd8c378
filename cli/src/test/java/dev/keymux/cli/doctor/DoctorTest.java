package dev.keymux.cli.doctor;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

/** Who keymux doctor asks sudo for: members of the usual admin groups only, by {@code id -Gn}'s names. */
class DoctorTest {
  @Test
  void onlyMembersOfSudoWheelOrAdminAreAskedAbout() {
    assertTrue(Doctor.mayAdminister("alice adm cdrom sudo dip plugdev\n"));
    assertTrue(Doctor.mayAdminister("bob wheel"));
    assertTrue(Doctor.mayAdminister("admin"));
    assertFalse(Doctor.mayAdminister("carol adm users sudoers wheels\n"), "whole names only");
    assertFalse(Doctor.mayAdminister(""));
  }
}
