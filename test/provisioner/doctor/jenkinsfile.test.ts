// Reading a Jenkinsfile's stages, labels and step calls, and matching Jenkins label expressions.
import { describe, expect, it } from 'vitest';
import { readJenkinsfile } from '../../../provisioner/src/doctor/jenkinsfile.ts';
import { labelMatches, parseLabelExpression } from '../../../provisioner/src/plan/labels.ts';

const steps = ['buildApp', 'test', 'dockerPush', 'terraformApply'];

// Doctor matches stage labels against pools with the planner's reading of Jenkins label expressions.
describe('label expressions', () => {
  const pool = ['awsDeploy', 'terraform', 'python'];
  it.each([
    ['awsDeploy', true],
    ['awsDeploy && python', true],
    ['awsDeploy&&docker', false],
    ['docker || terraform', true],
    ['!docker && python', true],
    ['!(terraform || docker)', false],
    ['(docker || python) && !windows', true],
    ['"awsDeploy"', true],
    ['docker -> windows', true],
    ['terraform -> windows', false],
    ['python <-> terraform', true],
  ])('%s on [awsDeploy terraform python] is %s', (expression, expected) => {
    expect(labelMatches(parseLabelExpression(expression), pool)).toBe(expected);
  });

  it.each([['awsDeploy &&'], ['(docker'], ['&& docker'], [''], ['a b']])('rejects the malformed %j naming it', (expression) => {
    expect(() => parseLabelExpression(expression)).toThrow(`the label expression '${expression}' cannot be read`);
  });
});

describe('reading a Jenkinsfile', () => {
  it('takes stage labels from Declarative agents, inherited from the pipeline when a stage has none', () => {
    const facts = readJenkinsfile(
      `@Library("bank-pipeline@v1.0.0") _
pipeline {
  agent { label 'python' }
  stages {
    stage('Build') { steps { buildApp() } }
    stage('Image') {
      agent { node { label 'docker' } }
      steps { dockerPush image: 'bankco/app' }
    }
    stage('Checks') {
      parallel {
        stage('Unit') { steps { test(dir: 'app') } }
        stage('Plan') { agent { label('terraform') } steps { terraformApply(dir: 'tf') } }
      }
    }
  }
}`,
      steps,
    );
    expect(facts.libraries).toEqual([{ name: 'bank-pipeline', version: 'v1.0.0', line: 1 }]);
    expect(facts.stages.map((s) => [s.name, s.label, s.steps])).toEqual([
      ['Build', 'python', ['buildApp']],
      ['Image', 'docker', ['dockerPush']],
      ['Unit', 'python', ['test']],
      ['Plan', 'terraform', ['terraformApply']],
    ]);
  });

  it('takes labels from scripted node blocks and ignores braces, steps and words inside strings and comments', () => {
    const facts = readJenkinsfile(
      `@Library(['bank-pipeline@v2', 'other-lib']) _
// stage('Commented') { terraformApply() }
node('awsDeploy2') {
  stage('Image') {
    sh 'echo "{ not a block" && test -f Dockerfile'
    /* buildApp() */
    def digest = dockerPush(image: 'x')
    echo "pushed \${digest} }"
  }
}`,
      steps,
    );
    expect(facts.libraries.map((l) => [l.name, l.version])).toEqual([['bank-pipeline', 'v2'], ['other-lib', undefined]]);
    expect(facts.stages.map((s) => [s.name, s.label, s.steps])).toEqual([['Image', 'awsDeploy2', ['dockerPush']]]);
  });

  it('marks a stage without an agent and one on any agent', () => {
    const facts = readJenkinsfile(
      `pipeline {
  agent none
  stages {
    stage('Nowhere') { steps { buildApp() } }
    stage('Anywhere') { agent any
      steps { test() } }
  }
}`,
      steps,
    );
    expect(facts.stages.map((s) => [s.name, s.label])).toEqual([['Nowhere', undefined], ['Anywhere', 'any']]);
  });
});
