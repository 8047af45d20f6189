package com.example.app;

public class App {
    public static void main(String[] args) {
        System.out.println(com.example.lib.Lib.hi());
    }
}
