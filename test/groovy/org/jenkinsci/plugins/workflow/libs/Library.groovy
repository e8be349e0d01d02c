package org.jenkinsci.plugins.workflow.libs

import java.lang.annotation.Retention
import java.lang.annotation.RetentionPolicy

// Stands in for Jenkins' @Library (imported implicitly in Jenkinsfiles); the harness reads its
// value to check which library version the Jenkinsfile pins.
@Retention(RetentionPolicy.RUNTIME)
@interface Library {
  String[] value()
}
