package dev.apirouter;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

/**
 * The packages' arrows run one way: no package cycle, and nothing depends on the root package (where
 * {@code Gateway} wires everything together).
 */
@AnalyzeClasses(packages = "dev.apirouter", importOptions = ImportOption.DoNotIncludeTests.class)
class ArchitectureTest {
    @ArchTest
    static final ArchRule noPackageCycles = slices().matching("dev.apirouter.(*)..").should().beFreeOfCycles();

    @ArchTest
    static final ArchRule nothingDependsOnTheRootPackage = noClasses()
            .that().resideOutsideOfPackage("dev.apirouter")
            .and().resideInAPackage("dev.apirouter..")
            .should().dependOnClassesThat().resideInAPackage("dev.apirouter");
}
